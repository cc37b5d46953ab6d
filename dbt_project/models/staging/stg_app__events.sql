{{ stg_segment('app') }}
