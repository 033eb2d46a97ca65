"""A local Neo4j for laptops, tests and the demo.

``local`` (a real Neo4j 5.26 from Maven Central jars, no Docker), ``browser`` (the
reviewers' Neo4j Browser guide and style, served on localhost) and ``demo`` (the whole loop
on the bundled sample graph).
"""
