-- pgb-simd-order2.sql - simd's realistic session "order2": begin, browse (5 views), cart
-- (2 lines), browse (5 views), cart (3 lines), checkout (3 lines).
-- The statements of lib/pgsql.c as lib/store_pg.c sends a session with pg_pipeline =
-- yes: one pipeline, each step its own transaction, the events with the last step.
-- bench/README.md (row 2) says what differs from simd; the weight is this shape's
-- share of 10,000 sessions (bench/session-mix.sql measured it); bench/run.sh passes
-- the -D lines (the arrays simd sends as literals) and users, clients and carts=0.
-- weight: 57
-- -D order2_t={session_start,view,view,view,view,view,cart_add,cart_add,view,view,view,view,view,cart_add,checkout}
-- -D order2_p={"{}","{\"product_id\":107,\"price_cents\":109}","{\"product_id\":505,\"price_cents\":109}","{\"product_id\":548,\"price_cents\":109}","{\"product_id\":996,\"price_cents\":109}","{\"product_id\":462,\"price_cents\":119}","{\"product_id\":107,\"quantity\":1}","{\"product_id\":505,\"quantity\":2}","{\"product_id\":107,\"price_cents\":109}","{\"product_id\":505,\"price_cents\":109}","{\"product_id\":548,\"price_cents\":109}","{\"product_id\":996,\"price_cents\":109}","{\"product_id\":462,\"price_cents\":119}","{\"product_id\":548,\"quantity\":1}","{\"total_cents\":436}"}
-- -D order2_c={1767571200,1767571230,1767571260,1767571290,1767571320,1767571350,1767571380,1767571410,1767571440,1767571470,1767571500,1767571530,1767571560,1767571590,1767571620}
-- -D empty_s={}
-- -D empty_p={}
-- -D empty_q={}
-- -D empty_c={}
-- -D l2_s={15,11}
-- -D l2_p={107,505}
-- -D l2_q={1,2}
-- -D l2_c={109,109}
-- -D l3_s={15,11,7}
-- -D l3_p={107,505,548}
-- -D l3_q={1,2,1}
-- -D l3_c={109,109,109}
-- -D cat=groceries
-- -D o_ordered=ordered
-- a user of this client's own (simd never runs two sessions of one agent at once)
\set uid 1 + :client_id + :clients * random(0, :users / :clients - 1)
-- 99 in 1,000: a cart left earlier has expired, and the visit begins by emptying it
-- (simd's cart step of no items); the user is the one who left it (see :carts)
\set expire random(1, 1000) <= 99
\set uid CASE WHEN :expire AND :carts > 0 THEN :carts % 8192 ELSE :uid END
\set carts CASE WHEN :expire THEN :carts / 8192 ELSE :carts END
-- keys: numbers, which none of simd's ("s<seed>:agent_<n>:...") can equal
\set sk random(1, 10000000000000000)
\set t random(1767571200, 1767657599)
\set total 436
\set coupon 0
\set k0 :sk * 100
\set k1 :sk * 100 + 1
\set k2 :sk * 100 + 2
\set k3 :sk * 100 + 3
\set k4 :sk * 100 + 4
\set k5 :sk * 100 + 5
\set k6 :sk * 100 + 6
\set k7 :sk * 100 + 7
\set k8 :sk * 100 + 8
\set k9 :sk * 100 + 9
\set k10 :sk * 100 + 10
\set k11 :sk * 100 + 11
\set k12 :sk * 100 + 12
\set k13 :sk * 100 + 13
\set k14 :sk * 100 + 14
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
-- browse (5 views)
BEGIN;
SELECT id, price_cents FROM products WHERE category = :cat
	ORDER BY price_cents LIMIT 50;
COMMIT;
-- cart (2 lines)
BEGIN;
DELETE FROM cart_items WHERE user_id = :uid AND product_id <> ALL (:l2_p::bigint[]);
INSERT INTO cart_items (user_id, store_id, product_id, quantity, price_cents,
	updated_at) SELECT :uid, x.s, x.p, x.q, x.c, to_timestamp(:t)
	FROM unnest(:l2_s::bigint[], :l2_p::bigint[], :l2_q::integer[], :l2_c::integer[])
	AS x(s, p, q, c)
	ON CONFLICT (user_id, store_id, product_id) DO UPDATE SET
	quantity = excluded.quantity, price_cents = excluded.price_cents,
	updated_at = excluded.updated_at;
COMMIT;
-- browse (5 views)
BEGIN;
SELECT id, price_cents FROM products WHERE category = :cat
	ORDER BY price_cents LIMIT 50;
COMMIT;
-- cart (3 lines)
BEGIN;
DELETE FROM cart_items WHERE user_id = :uid AND product_id <> ALL (:l3_p::bigint[]);
INSERT INTO cart_items (user_id, store_id, product_id, quantity, price_cents,
	updated_at) SELECT :uid, x.s, x.p, x.q, x.c, to_timestamp(:t)
	FROM unnest(:l3_s::bigint[], :l3_p::bigint[], :l3_q::integer[], :l3_c::integer[])
	AS x(s, p, q, c)
	ON CONFLICT (user_id, store_id, product_id) DO UPDATE SET
	quantity = excluded.quantity, price_cents = excluded.price_cents,
	updated_at = excluded.updated_at;
COMMIT;
-- checkout (3 lines), and the events of every step before its COMMIT
BEGIN;
INSERT INTO orders (idem_key, user_id, session_id, coupon_id, total_cents,
	created_at) VALUES (:sk, :uid,
	(SELECT id FROM shopping_sessions WHERE session_key = :sk),
	NULLIF(:coupon::bigint, 0), :total, to_timestamp(:t))
	ON CONFLICT (idem_key) DO NOTHING;
INSERT INTO order_items (order_id, product_id, quantity, price_cents)
	SELECT o.id, x.p, x.q, x.c FROM orders o,
	unnest(:l3_p::bigint[], :l3_q::integer[], :l3_c::integer[]) AS x(p, q, c)
	WHERE o.idem_key = :sk ON CONFLICT DO NOTHING;
INSERT INTO interactions (interaction_key, user_id, product_id, kind, created_at)
	SELECT :sk || ':' || x.p, :uid, x.p, 'purchase', to_timestamp(:t)
	FROM unnest(:l3_p::bigint[]) AS x(p)
	ON CONFLICT (interaction_key) DO NOTHING;
DELETE FROM cart_items WHERE user_id = :uid;
UPDATE shopping_sessions SET ended_at = to_timestamp(:t), outcome = :o_ordered
	WHERE session_key = :sk;
-- the keys as ARRAY[] of numbers: a pgbench variable is a number, not a text[] literal
INSERT INTO shopping_session_events (event_key, session_id, user_id, event_type,
	payload, created_at)
	SELECT x.k, (SELECT id FROM shopping_sessions WHERE session_key = :sk), :uid, x.t,
	x.p::jsonb, to_timestamp(x.c)
	FROM unnest(ARRAY[:k0, :k1, :k2, :k3, :k4, :k5, :k6, :k7, :k8, :k9, :k10, :k11, :k12, :k13, :k14]::text[],
	:order2_t::text[], :order2_p::text[], :order2_c::bigint[])
	AS x(k, t, p, c)
	ON CONFLICT (event_key) DO NOTHING;
COMMIT;
\endpipeline
