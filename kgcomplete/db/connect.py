"""Open a verified Neo4j driver, turn driver errors into one-line kgcomplete errors, and
quote the few configured names that must appear in Cypher text.

Names that come from *data* (labels, relationship types, property values) never enter
Cypher text: they travel as parameters and dynamic ``$(...)`` tokens. Names from the
*configuration* that Neo4j cannot take as parameters (the base label and key property in
index-backed lookups and schema commands) go through :func:`quote`, which escapes them as
Cypher identifiers.

Example:
    >>> quote("Entity")
    '`Entity`'
    >>> quote("we`ird")
    '`we``ird`'
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import neo4j
from neo4j.exceptions import AuthError, ClientError, Neo4jError, ServiceUnavailable, SessionExpired

from kgcomplete.config import Neo4jSettings
from kgcomplete.errors import ConfigError, Neo4jConnectionError
from kgcomplete.server.local import STATE_FILE, default_home, local_password_for, local_target


def quote(name: str) -> str:
    """Escape ``name`` as a Cypher identifier (backticks, doubled inside)."""
    if not name or "\x00" in name:
        raise ConfigError(f"{name!r} cannot be a Neo4j label or property name")
    return "`" + name.replace("`", "``") + "`"


def connect(settings: Neo4jSettings, *, verify: bool = True) -> neo4j.Driver:
    """A driver for ``settings``; with ``verify``, checks the server and credentials now.

    Without a password, and only when ``settings.uri`` is exactly the Bolt address of the
    running local server kgcomplete started, the password it generated is used, and sent to
    ``127.0.0.1`` and that port only (:meth:`~kgcomplete.server.local.LocalNeo4j.serves`).
    """
    uri = settings.uri
    if settings.password is not None:
        password = settings.password.get_secret_value()
    else:
        # the generated password goes only to the local instance's exact address
        uri, password = local_target(settings.uri) or (settings.uri, "")
    driver = neo4j.GraphDatabase.driver(uri, auth=(settings.username, password),
                                        connection_timeout=10.0, max_transaction_retry_time=15.0,
                                        notifications_min_severity="OFF")
    if verify:
        try:
            with translate_errors(settings):
                driver.verify_connectivity()
                # a read: through neo4j:// on a cluster any member answers, not only the leader
                driver.execute_query("RETURN 1", database_=settings.database, routing_=neo4j.RoutingControl.READ)
        except Exception:
            driver.close()
            raise
    return driver


@contextmanager
def translate_errors(settings: Neo4jSettings) -> Iterator[None]:
    """Re-raise driver errors as :class:`Neo4jConnectionError` with a one-line message."""
    try:
        yield
    except AuthError as e:
        hint = "check NEO4J_USERNAME / NEO4J_PASSWORD"
        if settings.password is None and local_password_for(settings.uri) is None:
            hint = ("no password was given: set NEO4J_PASSWORD (a server started by `kgcomplete neo4j start` "
                    f"keeps its generated one in {default_home() / STATE_FILE}, read only for its own Bolt address)")
        raise Neo4jConnectionError(
            f"Neo4j at {settings.uri} refused the credentials of user '{settings.username}': {hint}") from e
    except (ServiceUnavailable, SessionExpired, OSError) as e:
        raise Neo4jConnectionError(
            f"cannot reach Neo4j at {settings.uri} ({_first_line(e)}): is the server running? "
            "(`kgcomplete neo4j start` starts a local one)") from e
    except ClientError as e:
        if e.code and "DatabaseNotFound" in e.code:
            raise Neo4jConnectionError(
                f"Neo4j at {settings.uri} has no database '{settings.database}' (NEO4J_DATABASE)") from e
        raise
    except Neo4jError as e:
        if e.is_retryable():
            raise Neo4jConnectionError(f"Neo4j at {settings.uri} failed: {_first_line(e)}") from e
        raise


def _first_line(e: BaseException) -> str:
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0][:200]
