-- Reconciliation: for every model, lookback and touch mode, the revenue attributed to channels
-- (unattributed included) equals the net revenue of all conversions, to the cent.
with expected as (
    select sum(revenue) as revenue, count(*) as conversions from {{ ref('conversions') }}
),

attributed as (
    select model, lookback_days, touch_mode,
        sum(attributed_revenue) as revenue, count(distinct conversion_id) as conversions
    from {{ ref('attribution') }}
    group by all
),

variants as (
    select * from {{ attribution_models() }}
    cross join {{ attribution_lookbacks() }}
    cross join {{ attribution_touch_modes() }}
)

select v.*, a.revenue, e.revenue as expected_revenue, a.conversions, e.conversions as expected_conversions
from variants v
cross join expected e
left join attributed a using (model, lookback_days, touch_mode)
where e.conversions > 0
    and (a.revenue is null or abs(a.revenue - e.revenue) > 0.005 or a.conversions <> e.conversions)
