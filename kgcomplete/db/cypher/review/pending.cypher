// Pending suggested relationships between existing nodes, most probable first
// (proposed new entities: entities_pending.cypher). Names beside keys where the data has them.
// :param limit => 25
// :param type => ''
// (type: '' for every type, or one relationship type such as 'P530')
MATCH (a)-[s:SUGGESTED]->(b)
WHERE s.status = 'pending' AND s.kind IS NULL AND coalesce($type, '') IN ['', s.type]
RETURN s.id AS id, s.head_key AS head, s.head_name AS head_name, s.type AS type, s.type_name AS type_name,
       s.tail_key AS tail, s.tail_name AS tail_name,
       round(s.probability, 3) AS probability, s.rank AS rank, s.evidence AS evidence, s.run_id AS run
ORDER BY s.probability DESC, s.id
LIMIT $limit
