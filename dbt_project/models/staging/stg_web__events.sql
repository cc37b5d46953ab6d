{{ stg_segment('web') }}
