// Recent decisions, drawn as they now stand: an accepted suggestion is the real
// relationship it became (drawn like every real one); a rejected one is its SUGGESTED
// relationship captioned "type ✗ rejected".
// :param limit => 25
MATCH (a)-[s:SUGGESTED]->(b)
WHERE s.status IN ['accepted', 'rejected'] AND s.kind IS NULL
WITH a, s, b ORDER BY s.reviewed_at DESC, s.id LIMIT $limit
OPTIONAL MATCH (a)-[r]->(b) WHERE r.kgc_suggestion = s.id
RETURN a, b, CASE WHEN s.status = 'accepted' AND r IS NOT NULL THEN r ELSE s END AS decision,
       s.id AS id, s.status AS status, s.reviewed_by AS reviewer, s.reviewed_at AS reviewed_at
