-- Manual tags a marketer dropped in (`marketing/tags/*.csv`), checked by the `lake/marketing` asset.
{{ marketing_upload('manual_tags', {'tag': 'varchar', 'member_id': 'varchar', 'phone_sha256': 'varchar',
                                    'added_on': 'date', 'removed_on': 'date', 'source_file': 'varchar',
                                    'line': 'bigint'}) }}
