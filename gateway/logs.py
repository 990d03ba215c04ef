"""Logging of every process: one format on stderr, the gateway at INFO, chatty libraries quieter.

The same configuration goes to uvicorn (`log_config`), which applies it in each web worker process it
starts: configured only in the parent, the workers' log lines (the dev SMS codes among them) were lost.
"""

from __future__ import annotations

import logging.config
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# httpx logs whole URLs (WeChat puts the openid in the query); Alembic's plugin set-up is noise.
QUIET = ("httpx", "httpcore", "alembic.runtime.plugins")


def config(level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` dictionary (also uvicorn's `log_config`)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": FORMAT}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "plain", "stream": "ext://sys.stderr"}},
        "root": {"level": level, "handlers": ["stderr"]},
        # uvicorn's own loggers carry handlers of their own unless told otherwise: through the root here.
        "loggers": {
            **{name: {"level": "WARNING"} for name in QUIET},
            **{name: {"level": level, "handlers": [], "propagate": True}
               for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
        },
    }


def configure(level: str = "INFO") -> None:
    """Configure logging of this process."""
    logging.config.dictConfig(config(level))
