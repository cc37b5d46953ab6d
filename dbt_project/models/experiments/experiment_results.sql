-- Each experiment's groups against its control, with 95% confidence intervals.
-- Outcomes per exposed customer: converted (placed a paid order within
-- `experiment_window_days` after exposure) and revenue (those orders' net amount, 0 if none).
-- The control is the variant `control` (`holdout` for audience holdouts), else the first
-- variant by name. Intervals are normal approximations: the difference of proportions (or of
-- means, Welch) ± 1.96 standard errors; relative lift through the log of the ratio (delta
-- method), null when a rate or mean is 0. Recent exposures have part of their window still
-- ahead: both groups equally, so the lift stays comparable.
{%- set window = "interval '" ~ var('experiment_window_days') ~ " days'" %}
{%- set z = 1.959963984540054 %}

with outcomes as (
    select x.experiment_id, x.variant, x.customer_id,
        count(o.order_id) > 0 as converted,
        coalesce(sum(o.net_amount), 0)::double as revenue
    from {{ ref('experiment_exposures') }} x
    left join {{ ref('orders') }} o
        on o.customer_id = x.customer_id and o.status not in ('cancelled', 'refund_without_sale')
        and o.ordered_at > x.exposed_at and o.ordered_at <= x.exposed_at + {{ window }}
    where not x.is_contaminated
    group by all
),

groups as (
    select experiment_id, variant,
        count(*) as customers,
        count(*) filter (where converted) as converters,
        avg(converted::int) as conversion_rate,
        sum(revenue) as revenue,
        avg(revenue) as revenue_per_customer,
        coalesce(var_samp(revenue), 0) as revenue_variance
    from outcomes
    group by all
),

controls as (
    select experiment_id,
        {{ arg_min('variant', ["case when variant in ('control', 'holdout') then 0 else 1 end", 'variant']) }} as variant
    from groups
    group by experiment_id
),

compared as (
    select g.*, c.variant as control_variant,
        k.customers as n0, k.conversion_rate as p0, k.revenue_per_customer as m0, k.revenue_variance as v0
    from groups g
    join controls c using (experiment_id)
    join groups k on k.experiment_id = c.experiment_id and k.variant = c.variant
),

errors as (
    select *,
        conversion_rate - p0 as conversion_lift,
        sqrt(conversion_rate * (1 - conversion_rate) / customers + p0 * (1 - p0) / n0) as conversion_se,
        case when conversion_rate > 0 and p0 > 0
             then sqrt((1 - conversion_rate) / (customers * conversion_rate) + (1 - p0) / (n0 * p0)) end
            as conversion_log_se,
        revenue_per_customer - m0 as revenue_lift,
        sqrt(revenue_variance / customers + v0 / n0) as revenue_se,
        case when revenue_per_customer > 0 and m0 > 0
             then sqrt(revenue_variance / (customers * power(revenue_per_customer, 2)) + v0 / (n0 * power(m0, 2))) end
            as revenue_log_se
    from compared
),

lifts as (
    select
        experiment_id, variant, control_variant, variant = control_variant as is_control,
        customers, converters, conversion_rate, revenue, revenue_per_customer,
        conversion_lift,
        conversion_lift - {{ z }} * conversion_se as conversion_lift_low,
        conversion_lift + {{ z }} * conversion_se as conversion_lift_high,
        case when p0 > 0 then conversion_rate / p0 - 1 end as conversion_relative_lift,
        case when conversion_log_se is not null
             then exp(ln(conversion_rate / p0) - {{ z }} * conversion_log_se) - 1 end as conversion_relative_lift_low,
        case when conversion_log_se is not null
             then exp(ln(conversion_rate / p0) + {{ z }} * conversion_log_se) - 1 end as conversion_relative_lift_high,
        revenue_lift,
        revenue_lift - {{ z }} * revenue_se as revenue_lift_low,
        revenue_lift + {{ z }} * revenue_se as revenue_lift_high,
        case when m0 > 0 then revenue_per_customer / m0 - 1 end as revenue_relative_lift,
        case when revenue_log_se is not null
             then exp(ln(revenue_per_customer / m0) - {{ z }} * revenue_log_se) - 1 end as revenue_relative_lift_low,
        case when revenue_log_se is not null
             then exp(ln(revenue_per_customer / m0) + {{ z }} * revenue_log_se) - 1 end as revenue_relative_lift_high
    from errors
)

{%- set lift_columns = ['conversion_lift', 'conversion_lift_low', 'conversion_lift_high',
                        'conversion_relative_lift', 'conversion_relative_lift_low', 'conversion_relative_lift_high',
                        'revenue_lift', 'revenue_lift_low', 'revenue_lift_high',
                        'revenue_relative_lift', 'revenue_relative_lift_low', 'revenue_relative_lift_high'] %}

-- the control's own row carries its rates, not a comparison with itself
select
    experiment_id, variant, control_variant, is_control,
    customers, converters, conversion_rate, revenue, revenue_per_customer
    {%- for column in lift_columns %},
    case when not is_control then {{ column }} end as {{ column }}
    {%- endfor %}
from lifts
