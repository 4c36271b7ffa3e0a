"""The clinic's custom From address (SI-2..SI-4).

``lookup`` wraps dnspython (the resolver named in settings); ``spf``, ``dkim_check`` and ``dmarc``
each read one kind of record and return structured findings; ``validate`` combines them into a
status (green / yellow / red / could not check) and the exact records to create; ``approval``
keeps the site's address, its approval and the validation history, and re-validates daily;
``identity`` is what the email builders call for the From header, the envelope sender and the
DKIM signature; ``keys`` makes and reads the product's DKIM key. ``findings`` holds the texts.
"""
