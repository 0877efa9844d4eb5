-- session-mix.sql - the mix of session shapes in a database simd has run on, and the
-- bench/pgb-simd-*.sql script each shape is folded into (with its weight per 10,000).
-- How the weights and counts of those scripts were measured (bench/README.md, row 2):
--
--	simctl start --agents 5000 --all-shop --cycles 20 --time-scale 0 --wait
--	psql -X -v mincyc=1 -d DB -f bench/session-mix.sql
--
-- Cycle 0 is left out (mincyc): no cart is carried into it, so it has no cart to expire
-- and none to come back to; an endless run is cycles after it.  A shape is read from the
-- session's events: their key's step (shopper.c: 2 and 4 browse, 3 and 5 cart, 6 coupons),
-- the outcome, and whether the user's session of the cycle before left a cart ("exp": this
-- one began by emptying it, the cart step of no items; none when it went straight to the
-- checkout of that cart).  Shapes rarer than 0.25 % go into a script with the same outcome
-- and as many steps, so the statements a session sends stay what they are on average.
CREATE TEMP TABLE sh AS
SELECT s.id, s.user_id, split_part(s.session_key, ':', 3)::int AS cyc, s.outcome,
    count(*) FILTER (WHERE e.event_type = 'view' AND split_part(e.event_key, ':', 4) = '2') AS v1,
    count(*) FILTER (WHERE e.event_type = 'cart_add' AND split_part(e.event_key, ':', 4) = '3') AS a1,
    count(*) FILTER (WHERE e.event_type = 'view' AND split_part(e.event_key, ':', 4) = '4') AS v2,
    count(*) FILTER (WHERE e.event_type = 'cart_add' AND split_part(e.event_key, ':', 4) = '5') AS a2,
    count(*) FILTER (WHERE e.event_type = 'coupons_viewed') AS cv,
    count(*) FILTER (WHERE e.event_type = 'coupon_applied') AS ca,
    count(*) AS nev
FROM shopping_sessions s JOIN shopping_session_events e ON e.session_id = s.id
GROUP BY s.id;
ALTER TABLE sh ADD COLUMN prev text, ADD COLUMN lines int;
UPDATE sh SET prev = p.outcome FROM sh p WHERE p.user_id = sh.user_id AND p.cyc = sh.cyc - 1;
UPDATE sh SET lines = (SELECT count(*) FROM order_items oi JOIN orders o ON o.id = oi.order_id
    WHERE o.session_id = sh.id);

CREATE TEMP VIEW k AS
SELECT *, (prev = 'abandoned' AND v1 > 0) AS exp,
    (v1 > 0)::int + (a1 > 0)::int + (v2 > 0)::int + (a2 > 0)::int + (cv > 0)::int + 2 AS steps,
    concat_ws(' ', 'begin', CASE WHEN v1 = 1 THEN 'browse(1)' WHEN v1 > 0 THEN 'browse' END,
	CASE WHEN a1 > 0 THEN 'cart' END, CASE WHEN v2 > 0 THEN 'browse' END,
	CASE WHEN a2 > 0 THEN 'cart' END, CASE WHEN cv > 0 THEN 'coupons' END,
	CASE WHEN outcome = 'ordered' AND ca > 0 THEN 'checkout+coupon'
	    WHEN outcome = 'ordered' THEN 'checkout' ELSE 'abandon:' || outcome END) AS shape
FROM sh WHERE cyc >= :mincyc;

CREATE TEMP VIEW m AS
SELECT *, CASE
    WHEN shape = 'begin browse(1) abandon:browsed' THEN 'bounce'
    WHEN shape = 'begin browse abandon:browsed' THEN 'browse4+5'
    WHEN shape = 'begin browse browse abandon:browsed' THEN 'browse2'
    WHEN shape = 'begin browse cart abandon:abandoned' THEN 'cart'
    WHEN shape = 'begin browse cart coupons abandon:abandoned' THEN 'cart-coupons'
    WHEN outcome <> 'ordered' AND steps = 5 THEN 'cart-browse'
    WHEN outcome <> 'ordered' THEN 'cart2'
    WHEN shape = 'begin browse cart checkout' THEN 'order'
    WHEN v1 = 0 THEN 'recover'
    WHEN steps = 5 THEN 'order-coupon'
    ELSE 'order2' END AS script
FROM k;

\echo shapes (views v, cart adds a, order lines: means)
SELECT shape, count(*) AS n, round(100.0 * count(*) / sum(count(*)) OVER (), 2) AS pct,
    round(100.0 * avg(exp::int), 1) AS exp_pct, round(avg(v1), 2) AS v1, round(avg(a1), 2) AS a1,
    round(avg(v2), 2) AS v2, round(avg(a2), 2) AS a2, round(avg(lines), 2) AS lines,
    round(avg(nev), 2) AS events
FROM k GROUP BY shape ORDER BY n DESC;

\echo scripts (browse4+5 is split at its mean views: browse4 weight * (5 - v1), browse5 the rest)
SELECT script, round(10000.0 * count(*) / sum(count(*)) OVER ()) AS weight,
    round(1000.0 * avg(exp::int)) AS expire_per_mille, round(avg(v1), 2) AS v1,
    round(avg(a1), 2) AS a1, round(avg(v2), 2) AS v2, round(avg(a2), 2) AS a2,
    round(avg(lines), 2) AS lines, round(avg(nev), 2) AS events
FROM m GROUP BY script ORDER BY weight DESC;

\echo per session, all shapes
SELECT count(*) AS sessions, round(avg(nev), 3) AS events, round(avg(exp::int), 4) AS expired,
    round(avg(lines), 4) AS order_lines
FROM k;
