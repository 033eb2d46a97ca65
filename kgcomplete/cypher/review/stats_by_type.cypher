// How many suggestions of each type are pending, accepted and rejected.
MATCH ()-[s:SUGGESTED]->()
RETURN s.type AS type,
       count(CASE WHEN s.status = 'pending' THEN 1 END) AS pending,
       count(CASE WHEN s.status = 'accepted' THEN 1 END) AS accepted,
       count(CASE WHEN s.status = 'rejected' THEN 1 END) AS rejected,
       round(avg(s.probability), 3) AS mean_probability
ORDER BY pending + accepted + rejected DESC, type
