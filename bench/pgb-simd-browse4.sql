-- pgb-simd-browse4.sql - simd's realistic session "browse4": begin, browse (4 views),
-- abandon 'browsed'.
-- The statements of lib/pgsql.c as lib/store_pg.c sends a session with pg_pipeline =
-- yes: one pipeline, each step its own transaction, the events with the last step.
-- bench/README.md (row 2) says what differs from simd; the weight is this shape's
-- share of 10,000 sessions (bench/session-mix.sql measured it); bench/run.sh passes
-- the -D lines (the arrays simd sends as literals) and users, clients and carts=0.
-- weight: 1432
-- -D browse4_t={session_start,view,view,view,view}
-- -D browse4_p={"{}","{\"product_id\":107,\"price_cents\":109}","{\"product_id\":505,\"price_cents\":109}","{\"product_id\":548,\"price_cents\":109}","{\"product_id\":996,\"price_cents\":109}"}
-- -D browse4_c={1767571200,1767571230,1767571260,1767571290,1767571320}
-- -D empty_s={}
-- -D empty_p={}
-- -D empty_q={}
-- -D empty_c={}
-- -D cat=groceries
-- -D o_browsed=browsed
-- a user of this client's own (simd never runs two sessions of one agent at once)
\set uid 1 + :client_id + :clients * random(0, :users / :clients - 1)
-- 61 in 1,000: a cart left earlier has expired, and the visit begins by emptying it
-- (simd's cart step of no items); the user is the one who left it (see :carts)
\set expire random(1, 1000) <= 61
\set uid CASE WHEN :expire AND :carts > 0 THEN :carts % 8192 ELSE :uid END
\set carts CASE WHEN :expire THEN :carts / 8192 ELSE :carts END
-- keys: numbers, which none of simd's ("s<seed>:agent_<n>:...") can equal
\set sk random(1, 10000000000000000)
\set t random(1767571200, 1767657599)
\set k0 :sk * 100
\set k1 :sk * 100 + 1
\set k2 :sk * 100 + 2
\set k3 :sk * 100 + 3
\set k4 :sk * 100 + 4
\startpipeline
-- begin
BEGIN;
INSERT INTO shopping_sessions (session_key, user_id, started_at)
	VALUES (:sk, :uid, to_timestamp(:t)) ON CONFLICT (session_key) DO NOTHING;
UPDATE users SET last_shopped_at = to_timestamp(:t) WHERE id = :uid;
COMMIT;
\if :expire
-- cart (no items: the cart left earlier, emptied)
BEGIN;
DELETE FROM cart_items WHERE user_id = :uid AND product_id <> ALL (:empty_p::bigint[]);
INSERT INTO cart_items (user_id, store_id, product_id, quantity, price_cents,
	updated_at) SELECT :uid, x.s, x.p, x.q, x.c, to_timestamp(:t)
	FROM unnest(:empty_s::bigint[], :empty_p::bigint[], :empty_q::integer[], :empty_c::integer[])
	AS x(s, p, q, c)
	ON CONFLICT (user_id, store_id, product_id) DO UPDATE SET
	quantity = excluded.quantity, price_cents = excluded.price_cents,
	updated_at = excluded.updated_at;
COMMIT;
\endif
-- browse (4 views)
BEGIN;
SELECT id, price_cents FROM products WHERE category = :cat
	ORDER BY price_cents LIMIT 50;
COMMIT;
-- abandon, and the events of every step beside it (one implicit transaction)
UPDATE shopping_sessions SET ended_at = to_timestamp(:t), outcome = :o_browsed
	WHERE session_key = :sk;
-- the keys as ARRAY[] of numbers: a pgbench variable is a number, not a text[] literal
INSERT INTO shopping_session_events (event_key, session_id, user_id, event_type,
	payload, created_at)
	SELECT x.k, (SELECT id FROM shopping_sessions WHERE session_key = :sk), :uid, x.t,
	x.p::jsonb, to_timestamp(x.c)
	FROM unnest(ARRAY[:k0, :k1, :k2, :k3, :k4]::text[],
	:browse4_t::text[], :browse4_p::text[], :browse4_c::bigint[])
	AS x(k, t, p, c)
	ON CONFLICT (event_key) DO NOTHING;
\endpipeline
