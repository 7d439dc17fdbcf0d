"""The DynamoDB on-demand prices the cost table assumes, and the arithmetic of a price.

Prices for tables of the Standard table class in us-east-1 (US East, N. Virginia), after
AWS halved the on-demand prices in November 2024. AWS publishes them on `SOURCE`; the copy
of that page found when the cost table was written gave the unit definitions but not the
dollar figures, which are as `QUOTED_BY` quotes them for US East. Other regions cost more;
the request units per 1,000 requests do not change with the region.
"""

from __future__ import annotations

REGION = "us-east-1 (US East, N. Virginia), Standard table class"
USD_PER_MILLION_RRU = 0.125
USD_PER_MILLION_WRU = 0.625
SOURCE = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
QUOTED_BY = "https://airbyte.com/data-engineering-resources/dynamodb-pricing"


def usd_per_million_requests(rru_per_1k: float, wru_per_1k: float) -> float:
    """What a million requests cost in read and write request units, in US dollars."""
    # Per 1,000 requests -> per million requests: x 1,000; units -> dollars: / 1,000,000.
    return (rru_per_1k * USD_PER_MILLION_RRU + wru_per_1k * USD_PER_MILLION_WRU) / 1000
