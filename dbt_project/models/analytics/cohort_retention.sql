-- Customers by the month of their first order (the cohort), and how many of them ordered again
-- in each later month: `months_since` 0 is the cohort month itself (everyone), 1 the next
-- calendar month, and so on up to tonight's month.
with orders as (
    select customer_id, cast(date_trunc('month', business_date) as date) as month
    from {{ ref('orders') }}
    where customer_id <> 'anonymous' and status not in ('cancelled', 'refund_without_sale')
),

cohorts as (
    select customer_id, min(month) as cohort_month from orders group by customer_id
),

active as (
    select distinct o.customer_id, c.cohort_month,
        {{ months_between('c.cohort_month', 'o.month') }} as months_since
    from orders o join cohorts c using (customer_id)
),

sizes as (
    select cohort_month, count(*) as cohort_customers from cohorts group by cohort_month
),

-- every month from the cohort's to tonight's, so a month nobody came back shows 0
grid as (
    select cohort_month, cohort_customers,
        {{ unnest_range(months_between('cohort_month', as_of_date()) ~ ' + 1') }} as months_since
    from sizes
)

select
    g.cohort_month,
    g.months_since,
    g.cohort_customers,
    count(a.customer_id) as active_customers,
    count(a.customer_id) / g.cohort_customers as retention
from grid g
left join active a using (cohort_month, months_since)
group by g.cohort_month, g.months_since, g.cohort_customers
