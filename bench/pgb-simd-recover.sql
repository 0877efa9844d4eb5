-- pgb-simd-recover.sql - simd's realistic session "recover": begin, checkout (2 lines):
-- the cart the last session left.
-- The statements of lib/pgsql.c as lib/store_pg.c sends a session with pg_pipeline =
-- yes: one pipeline, each step its own transaction, the events with the last step.
-- bench/README.md (row 2) says what differs from simd; the weight is this shape's
-- share of 10,000 sessions (bench/session-mix.sql measured it); bench/run.sh passes
-- the -D lines (the arrays simd sends as literals) and users, clients and carts=0.
-- weight: 71
-- -D recover_t={session_start,checkout}
-- -D recover_p={"{}","{\"total_cents\":327}"}
-- -D recover_c={1767571200,1767571230}
-- -D l2_s={15,11}
-- -D l2_p={107,505}
-- -D l2_q={1,2}
-- -D l2_c={109,109}
-- -D cat=groceries
-- -D o_ordered=ordered
-- a user of this client's own (simd never runs two sessions of one agent at once)
\set uid 1 + :client_id + :clients * random(0, :users / :clients - 1)
-- the user of the cart this client left last, if any (:carts: a stack of 4 users,
-- 13 bits each), as simd's agent comes back to the cart it left
\set uid CASE WHEN :carts > 0 THEN :carts % 8192 ELSE :uid END
\set carts :carts / 8192
-- keys: numbers, which none of simd's ("s<seed>:agent_<n>:...") can equal
\set sk random(1, 10000000000000000)
\set t random(1767571200, 1767657599)
\set total 327
\set coupon 0
\set k0 :sk * 100
\set k1 :sk * 100 + 1
\startpipeline
-- begin
BEGIN;
INSERT INTO shopping_sessions (session_key, user_id, started_at)
	VALUES (:sk, :uid, to_timestamp(:t)) ON CONFLICT (session_key) DO NOTHING;
UPDATE users SET last_shopped_at = to_timestamp(:t) WHERE id = :uid;
COMMIT;
-- checkout (2 lines), and the events of every step before its COMMIT
BEGIN;
INSERT INTO orders (idem_key, user_id, session_id, coupon_id, total_cents,
	created_at) VALUES (:sk, :uid,
	(SELECT id FROM shopping_sessions WHERE session_key = :sk),
	NULLIF(:coupon::bigint, 0), :total, to_timestamp(:t))
	ON CONFLICT (idem_key) DO NOTHING;
INSERT INTO order_items (order_id, product_id, quantity, price_cents)
	SELECT o.id, x.p, x.q, x.c FROM orders o,
	unnest(:l2_p::bigint[], :l2_q::integer[], :l2_c::integer[]) AS x(p, q, c)
	WHERE o.idem_key = :sk ON CONFLICT DO NOTHING;
INSERT INTO interactions (interaction_key, user_id, product_id, kind, created_at)
	SELECT :sk || ':' || x.p, :uid, x.p, 'purchase', to_timestamp(:t)
	FROM unnest(:l2_p::bigint[]) AS x(p)
	ON CONFLICT (interaction_key) DO NOTHING;
DELETE FROM cart_items WHERE user_id = :uid;
UPDATE shopping_sessions SET ended_at = to_timestamp(:t), outcome = :o_ordered
	WHERE session_key = :sk;
-- the keys as ARRAY[] of numbers: a pgbench variable is a number, not a text[] literal
INSERT INTO shopping_session_events (event_key, session_id, user_id, event_type,
	payload, created_at)
	SELECT x.k, (SELECT id FROM shopping_sessions WHERE session_key = :sk), :uid, x.t,
	x.p::jsonb, to_timestamp(x.c)
	FROM unnest(ARRAY[:k0, :k1]::text[],
	:recover_t::text[], :recover_p::text[], :recover_c::bigint[])
	AS x(k, t, p, c)
	ON CONFLICT (event_key) DO NOTHING;
COMMIT;
\endpipeline
