-- Uploaded lists (`marketing/lists/<list>.csv`): member ids or phones, checked by `lake/marketing`.
{{ marketing_upload('list_members', {'list': 'varchar', 'member_id': 'varchar', 'phone_sha256': 'varchar',
                                     'source_file': 'varchar', 'line': 'bigint'}) }}
