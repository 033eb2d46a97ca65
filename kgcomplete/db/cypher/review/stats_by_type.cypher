// How many suggestions of each type are pending, accepted and rejected, and whether the
// probabilities were honest: the mean probability of the reviewed ones beside the share accepted.
MATCH ()-[s:SUGGESTED]->()
WITH s.type AS type, s.status AS status, s.probability AS p
RETURN type,
       count(CASE WHEN status = 'pending' THEN 1 END) AS pending,
       count(CASE WHEN status = 'accepted' THEN 1 END) AS accepted,
       count(CASE WHEN status = 'rejected' THEN 1 END) AS rejected,
       round(avg(p), 3) AS mean_probability,
       round(avg(CASE WHEN status <> 'pending' THEN p END), 3) AS mean_probability_reviewed,
       round(toFloat(count(CASE WHEN status = 'accepted' THEN 1 END))
             / CASE WHEN count(CASE WHEN status <> 'pending' THEN 1 END) = 0 THEN null
                    ELSE count(CASE WHEN status <> 'pending' THEN 1 END) END, 3) AS accepted_share
ORDER BY pending + accepted + rejected DESC, type
