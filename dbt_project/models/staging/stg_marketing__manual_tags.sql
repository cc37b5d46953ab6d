-- Manual tags a marketer dropped in (`marketing/tags/*.csv`), checked by the `lake/marketing` asset.
{{ marketing_upload('manual_tags', {'tag': 'string', 'member_id': 'string', 'phone_sha256': 'string',
                                    'added_on': 'date', 'removed_on': 'date', 'source_file': 'string',
                                    'line': 'bigint'}) }}
