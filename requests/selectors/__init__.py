"""Reads that encode rules, one home each: applications, reviews (and the committee's pages in
`committee`), permits. Services, pages and APIs all read through here."""
