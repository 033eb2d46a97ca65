// Pending proposed entities (SuggestedEntity nodes), most probable first, each with its
// proposed relationships ("->" from the new entity, "<-" towards it).
// :param limit => 25
MATCH (n:SuggestedEntity {status: 'pending'})
WITH n ORDER BY n.probability DESC, n.id LIMIT $limit
OPTIONAL MATCH (n)-[s:SUGGESTED]-()
WITH n, s ORDER BY s.probability DESC
RETURN n.id AS id, n.label AS label, round(n.probability, 3) AS probability, round(n.novelty, 3) AS novelty,
       n.support AS support, n.anchor AS anchor, n.evidence AS evidence, n.run_id AS run,
       collect(CASE WHEN s.head_key = n.id THEN '-[' + s.type + ']-> ' + s.tail_key
                    ELSE '<-[' + s.type + ']- ' + s.head_key END
               + ' (' + toString(round(s.probability, 2)) + ', ' + s.status + ')') AS relationships
ORDER BY probability DESC, id
