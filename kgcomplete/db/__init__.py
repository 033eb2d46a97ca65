"""Database I/O: everything that talks to Neo4j.

Read top to bottom, the modules are the flow through the database: ``connect`` (a verified
driver, one-line errors), ``schema`` (reserved names, constraints), ``load`` (triples in),
``pull`` (a snapshot out), ``write`` and ``write_entities`` (proposals back in), ``runs``
(the ``KGCRun`` lifecycle), ``review`` (accept / reject), ``feedback`` (what analysts
decided, for the next run) and ``locks`` (one run of a job at a time). The Cypher an
analyst may run lives in ``cypher/``.

Nothing here imports the ML code: proposals arrive as the plain records of
:mod:`kgcomplete.records`.
"""

from pathlib import Path

CYPHER_DIR = Path(__file__).resolve().with_name("cypher")
