{{ incremental_by_delivery() }}
{{ stg_segment('web') }}
