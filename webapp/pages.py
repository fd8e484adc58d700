"""The two pages people use: draw & recognise, and contribute a labelled drawing."""

from flask import Blueprint

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> str:
    """Draw and see the model's guesses while drawing."""
    return "fashion-doodles"
