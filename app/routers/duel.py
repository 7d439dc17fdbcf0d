"""The duel: a signed-in user sees two answers, votes for one, and sees their votes.

The vote history lives in the session only, which is what makes it a good test of
the session store: it must survive reloads, restarts and other Lambda containers.
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Depends, Form
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from app.pages import current_user, message_page, render, session_loaded
from app.services.duels import CHOICES, get_duel, next_duel

router = APIRouter(dependencies=[Depends(session_loaded)])  # the session, loaded first
MAX_VOTES_KEPT = 50  # keeps the session item far below DynamoDB's 400 KB


def _votes(request: Request) -> list[dict[str, Any]]:
    votes = request.session.get("votes")
    return [vote for vote in votes if isinstance(vote, dict)] if isinstance(votes, list) else []


@router.get("/", name="index")
async def index(request: Request) -> Response:
    """The home page: an invitation to sign in, or the next duel and the vote history."""
    if current_user(request) is None:
        return render(request, "index.html", duel=None, history=[])
    votes = _votes(request)
    history = []
    for vote in reversed(votes):
        duel = get_duel(str(vote.get("duel_id")))
        choice = vote.get("choice")
        if duel is not None and choice in CHOICES:
            history.append({"duel": duel, "choice": choice, "answer": duel.answers[choice]})
    return render(request, "index.html", duel=next_duel(len(votes)), history=history)


@router.post("/vote", name="vote")
async def vote(
    request: Request, duel_id: str = Form(default=""), choice: str = Form(default="")
) -> Response:
    """Record a vote in the session, then show the next duel (POST-redirect-GET)."""
    if current_user(request) is None:
        return message_page(
            request, "Please sign in", "Sign in to vote.", status_code=401, retry_login=True
        )
    if get_duel(duel_id) is None or choice not in CHOICES:
        return message_page(
            request,
            "That vote was not understood",
            "Pick answer A or B on the duel page.",
            status_code=400,
            retry_login=False,
        )
    votes = _votes(request)
    votes.append({"duel_id": duel_id, "choice": choice, "at": int(time.time())})
    # Assign a new list: the session notices assignments, not in-place changes.
    request.session["votes"] = votes[-MAX_VOTES_KEPT:]
    return RedirectResponse(request.url_for("index"), status_code=303)
