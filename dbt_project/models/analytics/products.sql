-- Products seen in the behaviour layer, with the category the events give them (the most
-- frequent one; ties: the smallest name).
select product_id,
    {{ arg_max('category', ['n', '-rank']) }} as category
from (
    select product_id, category, count(*) as n,
        dense_rank() over (partition by product_id order by category) as rank
    from {{ ref('events') }}
    where product_id is not null and category is not null
    group by product_id, category
)
group by product_id
