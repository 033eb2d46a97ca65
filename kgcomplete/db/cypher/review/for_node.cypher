// Every suggestion that touches one node (by its key), in both directions.
// :param node => 'Q42'
MATCH (a)-[s:SUGGESTED]->(b)
WHERE s.head_key = $node OR s.tail_key = $node
RETURN s.id AS id, s.head_key AS head, s.type AS type, s.tail_key AS tail, s.status AS status,
       round(s.probability, 3) AS probability, s.evidence AS evidence
ORDER BY s.status, s.probability DESC
