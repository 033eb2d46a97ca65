// One suggestion drawn with its evidence: the two nodes, the suggestion, and the real
// paths of up to two hops that connect them (what the evidence strings describe).
// :param id => 'paste an id from pending.cypher'
MATCH (a)-[s:SUGGESTED {id: $id}]->(b)
OPTIONAL MATCH p = (a)-[*1..2]-(b)
WHERE none(r IN relationships(p) WHERE type(r) = 'SUGGESTED')
RETURN a, s, b, collect(p)[0..10] AS supporting_paths
