// Every suggestion that touches one node (by its key), in both directions.
// :param node => COLLECT { MATCH ()-[s:SUGGESTED {status: 'pending'}]->() RETURN s.head_key ORDER BY s.probability DESC, s.id LIMIT 1 }[0]
// (node: the head of the most probable pending suggestion; or a key such as 'Q42')
MATCH (a)-[s:SUGGESTED]->(b)
WHERE s.head_key = $node OR s.tail_key = $node
RETURN s.id AS id, s.head_key AS head, s.head_name AS head_name, s.type AS type, s.type_name AS type_name,
       s.tail_key AS tail, s.tail_name AS tail_name, s.status AS status,
       round(s.probability, 3) AS probability, s.evidence AS evidence
ORDER BY s.status, s.probability DESC
