"""The AWS Lambda entry point: `app.lambda_handler.handler`.

Everything here runs once per container, in Lambda's init phase: the settings are
read and the session store and its boto3 client are built, then reused by every
invocation. Lifespan is off because Lambda has no shutdown to hook. With
SESSION_METRICS=emf, each invocation ends by printing its session metrics (one
CloudWatch EMF document) to stdout.
"""

from __future__ import annotations

from mangum import Mangum

from app.main import configure_logging, create_app

configure_logging()
application = create_app()
handler = Mangum(application, lifespan="off")
if application.state.metrics is not None:
    handler = application.state.metrics.flush_after(handler)
