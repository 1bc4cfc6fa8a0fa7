-- docs/metrics.md's daily aggregation (daily_aggregations) as one PostgreSQL statement over
-- the raw layer: the yardstick the polars asset is measured against (benchmarks/bench_analytics.py).
-- Parameters: :first_day and :last_day (business dates). Runs with search_path = reporting.
-- Tickets count on their event's night and feedback on the night it is about.
WITH event_nights AS (
    SELECT e.event_id,
           ((e.starts_at AT TIME ZONE v.timezone) - v.business_day_cutoff::interval)::date AS night
    FROM raw_events e JOIN raw_venues v USING (venue_id)
),
night_tickets AS (
    SELECT t.venue_id, COALESCE(en.night, t.business_date) AS business_date,
           t.gross_pence, t.fee_pence, t.quantity, t.status
    FROM raw_ticket_sales t LEFT JOIN event_nights en USING (event_id)
),
night_feedback AS (
    SELECT f.venue_id, COALESCE(en.night, b.business_date, f.business_date) AS business_date, f.score
    FROM raw_feedback f
    LEFT JOIN event_nights en USING (event_id)
    LEFT JOIN raw_bookings b USING (booking_id)
),
days AS (
    SELECT venue_id, business_date FROM raw_bookings WHERE business_date BETWEEN :first_day AND :last_day
    UNION SELECT venue_id, business_date FROM raw_payments WHERE business_date BETWEEN :first_day AND :last_day
    UNION SELECT venue_id, business_date FROM raw_ticket_sales WHERE business_date BETWEEN :first_day AND :last_day
    UNION SELECT venue_id, business_date FROM night_tickets WHERE business_date BETWEEN :first_day AND :last_day
    UNION SELECT venue_id, business_date FROM raw_check_ins WHERE business_date BETWEEN :first_day AND :last_day
    UNION SELECT venue_id, business_date FROM raw_bar_transactions WHERE business_date BETWEEN :first_day AND :last_day
    UNION SELECT venue_id, business_date FROM night_feedback WHERE business_date BETWEEN :first_day AND :last_day
    UNION SELECT venue_id, business_date FROM raw_staff_shifts WHERE business_date BETWEEN :first_day AND :last_day
),
bar AS (
    SELECT venue_id, business_date,
           (SUM(amount_pence) FILTER (WHERE booking_id IS NULL))::bigint AS bar_revenue_pence,
           (SUM(amount_pence) FILTER (WHERE booking_id IS NOT NULL))::bigint AS table_revenue_pence
    FROM raw_bar_transactions WHERE business_date BETWEEN :first_day AND :last_day GROUP BY 1, 2
),
tickets AS (
    SELECT venue_id, business_date,
           (SUM(gross_pence - fee_pence) FILTER (WHERE status = 'paid'))::bigint AS ticket_revenue_pence,
           (SUM(quantity) FILTER (WHERE status = 'paid'))::bigint AS tickets_sold
    FROM night_tickets WHERE business_date BETWEEN :first_day AND :last_day GROUP BY 1, 2
),
taken AS (
    SELECT venue_id, business_date,
           (SUM(gross_pence - fee_pence) FILTER (WHERE status = 'paid'))::bigint AS ticket_sales_taken_pence
    FROM raw_ticket_sales WHERE business_date BETWEEN :first_day AND :last_day GROUP BY 1, 2
),
pay AS (
    SELECT venue_id, business_date,
           (SUM(amount_pence) FILTER (WHERE status = 'succeeded' AND kind = 'deposit'))::bigint AS deposits_pence,
           COUNT(*) FILTER (WHERE status = 'succeeded' AND kind = 'deposit') AS deposit_payments,
           (SUM(amount_pence) FILTER (WHERE status = 'succeeded' AND kind = 'refund'))::bigint AS refunds_pence
    FROM raw_payments WHERE business_date BETWEEN :first_day AND :last_day GROUP BY 1, 2
),
bk AS (
    SELECT venue_id, business_date,
           COUNT(*) AS bookings_total,
           COUNT(*) FILTER (WHERE status IN ('confirmed', 'completed', 'no_show')) AS bookings_confirmed,
           COUNT(*) FILTER (WHERE status = 'cancelled') AS bookings_cancelled,
           COUNT(*) FILTER (WHERE status = 'no_show') AS no_shows,
           COUNT(*) FILTER (WHERE status = 'completed') AS bookings_completed,
           (SUM(party_size) FILTER (WHERE status = 'completed'))::bigint AS covers,
           COUNT(DISTINCT table_id) FILTER (WHERE status = 'completed') AS tables_used,
           COUNT(*) FILTER (WHERE status <> 'cancelled' AND special_occasion = 'birthday') AS birthdays,
           COUNT(*) FILTER (WHERE status <> 'cancelled' AND special_occasion = 'anniversary') AS anniversaries
    FROM raw_bookings WHERE business_date BETWEEN :first_day AND :last_day GROUP BY 1, 2
),
scans AS (
    SELECT venue_id, business_date, direction, scanned_at, check_in_id,
           SUM(CASE direction WHEN 'in' THEN 1 WHEN 'out' THEN -1 ELSE 0 END)
               OVER (PARTITION BY venue_id, business_date ORDER BY scanned_at, check_in_id) AS occupancy
    FROM raw_check_ins WHERE business_date BETWEEN :first_day AND :last_day
),
door AS (
    SELECT venue_id, business_date,
           COUNT(*) FILTER (WHERE direction = 'in') AS check_ins,
           COUNT(*) FILTER (WHERE direction = 'out') AS check_outs,
           GREATEST(MAX(occupancy), 0) AS peak_occupancy,
           BOOL_OR(direction = 'in') AS any_in
    FROM scans GROUP BY 1, 2
),
peak_at AS (
    SELECT DISTINCT ON (s.venue_id, s.business_date) s.venue_id, s.business_date,
           EXTRACT(HOUR FROM s.scanned_at AT TIME ZONE 'Europe/London')::int AS peak_hour
    FROM scans s JOIN door d USING (venue_id, business_date)
    WHERE s.occupancy = d.peak_occupancy AND d.any_in
    ORDER BY s.venue_id, s.business_date, s.scanned_at, s.check_in_id
),
visits AS (
    SELECT venue_id, customer_id, business_date FROM raw_bookings WHERE status = 'completed'
    UNION
    SELECT venue_id, customer_id, business_date FROM raw_check_ins WHERE direction = 'in' AND customer_id IS NOT NULL
),
firsts AS (
    SELECT venue_id, customer_id, MIN(business_date) AS first_visit FROM visits GROUP BY 1, 2
),
visitors AS (
    SELECT v.venue_id, v.business_date,
           COUNT(*) AS visitors,
           COUNT(*) FILTER (WHERE f.first_visit = v.business_date) AS new_customers,
           COUNT(*) FILTER (WHERE f.first_visit < v.business_date) AS returning_customers,
           COUNT(*) FILTER (WHERE c.is_vip) AS vip_customers
    FROM visits v
    JOIN firsts f USING (venue_id, customer_id)
    JOIN raw_customers c USING (customer_id)
    WHERE v.business_date BETWEEN :first_day AND :last_day
    GROUP BY 1, 2
),
fb AS (
    SELECT venue_id, business_date, AVG(score)::float8 AS avg_satisfaction, COUNT(*) AS feedback_count
    FROM night_feedback WHERE business_date BETWEEN :first_day AND :last_day GROUP BY 1, 2
)
SELECT d.venue_id, d.business_date,
       COALESCE(bar.bar_revenue_pence, 0) AS bar_revenue_pence,
       COALESCE(bar.table_revenue_pence, 0) AS table_revenue_pence,
       COALESCE(t.ticket_revenue_pence, 0) AS ticket_revenue_pence,
       COALESCE(tk.ticket_sales_taken_pence, 0) AS ticket_sales_taken_pence,
       COALESCE(t.tickets_sold, 0) AS tickets_sold,
       COALESCE(bar.bar_revenue_pence, 0) + COALESCE(bar.table_revenue_pence, 0)
           + COALESCE(t.ticket_revenue_pence, 0) AS gross_revenue_pence,
       COALESCE(pay.deposits_pence, 0) AS deposits_pence,
       COALESCE(pay.refunds_pence, 0) AS refunds_pence,
       COALESCE(bar.bar_revenue_pence, 0) + COALESCE(bar.table_revenue_pence, 0)
           + COALESCE(t.ticket_revenue_pence, 0) - COALESCE(pay.refunds_pence, 0) AS net_revenue_pence,
       COALESCE(bk.bookings_total, 0) AS bookings_total,
       COALESCE(bk.bookings_confirmed, 0) AS bookings_confirmed,
       COALESCE(bk.bookings_cancelled, 0) AS bookings_cancelled,
       COALESCE(bk.no_shows, 0) AS no_shows,
       COALESCE(bk.bookings_completed, 0) AS bookings_completed,
       COALESCE(bk.covers, 0) AS covers,
       bk.no_shows::float8 / NULLIF(bk.bookings_confirmed, 0) AS no_show_rate,
       COALESCE(door.check_ins, 0) AS check_ins,
       COALESCE(door.check_outs, 0) AS check_outs,
       COALESCE(door.peak_occupancy, 0) AS peak_occupancy,
       COALESCE(door.peak_occupancy, 0)::float8 / NULLIF(v.capacity, 0) AS occupancy_rate,
       peak_at.peak_hour,
       COALESCE(vis.new_customers, 0) AS new_customers,
       COALESCE(vis.returning_customers, 0) AS returning_customers,
       COALESCE(vis.vip_customers, 0) AS vip_customers,
       COALESCE(bk.birthdays, 0) AS birthdays,
       COALESCE(bk.anniversaries, 0) AS anniversaries,
       fb.avg_satisfaction,
       COALESCE(fb.feedback_count, 0) AS feedback_count,
       (COALESCE(bar.bar_revenue_pence, 0) + COALESCE(bar.table_revenue_pence, 0)
           + COALESCE(t.ticket_revenue_pence, 0))::float8 / NULLIF(door.check_ins, 0) AS spend_per_head_pence
FROM days d
JOIN raw_venues v USING (venue_id)
LEFT JOIN bar USING (venue_id, business_date)
LEFT JOIN tickets t USING (venue_id, business_date)
LEFT JOIN taken tk USING (venue_id, business_date)
LEFT JOIN pay USING (venue_id, business_date)
LEFT JOIN bk USING (venue_id, business_date)
LEFT JOIN door USING (venue_id, business_date)
LEFT JOIN peak_at USING (venue_id, business_date)
LEFT JOIN visitors vis USING (venue_id, business_date)
LEFT JOIN fb USING (venue_id, business_date)
ORDER BY 1, 2
