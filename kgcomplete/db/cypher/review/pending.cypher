// Pending suggested relationships between existing nodes, most probable first
// (proposed new entities: entities_pending.cypher).
// :param limit => 25
// :param type => null
// (type: null for every type, or one relationship type such as 'P530')
MATCH (a)-[s:SUGGESTED]->(b)
WHERE s.status = 'pending' AND s.kind IS NULL AND ($type IS NULL OR s.type = $type)
RETURN s.id AS id, s.head_key AS head, s.type AS type, s.tail_key AS tail,
       round(s.probability, 3) AS probability, s.rank AS rank, s.evidence AS evidence, s.run_id AS run
ORDER BY s.probability DESC, s.id
LIMIT $limit
