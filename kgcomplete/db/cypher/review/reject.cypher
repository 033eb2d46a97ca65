// Reject one suggestion. It stays in the graph, marked rejected and captioned
// "type ✗ rejected": out of the pending views, still listed by for_node.cypher and
// decided.cypher, never proposed again, and later training uses it as a hard negative.
// :param id => COLLECT { MATCH ()-[s:SUGGESTED {status: 'pending'}]->() WHERE s.kind IS NULL RETURN s.id ORDER BY s.probability DESC, s.id LIMIT 1 }[0]
// :param reviewer => 'neo4j-browser'
// (id: the most probable pending suggestion, or paste one; reviewer: your name)
MATCH (a)-[s:SUGGESTED {id: $id}]->(b)
SET s.review_lock = true REMOVE s.review_lock
WITH s WHERE s.status = 'pending'
SET s.status = 'rejected', s.caption = s.type + ' ✗ rejected', s.reviewed_at = datetime(),
    s.reviewed_by = $reviewer, s.updated_at = datetime()
RETURN s.id AS id, s.head_key AS head, s.type AS type, s.tail_key AS tail, s.status AS status
