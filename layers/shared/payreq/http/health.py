"""`GET /api/v1/health/<function>`: the function is deployed, configured and reaches its database."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayHttpRouter
from pydantic import BaseModel
from sqlalchemy import text

from payreq.db import get_engine, read_connection


class Health(BaseModel):
    status: str
    function: str
    database: str


def health_router(function: str) -> APIGatewayHttpRouter:
    router = APIGatewayHttpRouter()

    @router.get(f"/api/v1/health/{function}", summary=f"Health of the {function} function")
    def health() -> Health:
        # A failure here surfaces as the 503 `database_unavailable` envelope.
        with read_connection(get_engine()) as connection:
            connection.execute(text("SELECT 1"))
        return Health(status="ok", function=function, database="ok")

    return router
