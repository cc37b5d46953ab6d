-- Uploaded lists (`marketing/lists/<list>.csv`): member ids or phones, checked by `lake/marketing`.
{{ marketing_upload('list_members', {'list': 'string', 'member_id': 'string', 'phone_sha256': 'string',
                                     'source_file': 'string', 'line': 'bigint'}) }}
