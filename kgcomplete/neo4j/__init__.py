"""Everything that talks to Neo4j: the local server, loading, pulling, (later) writeback."""
