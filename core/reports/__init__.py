"""Reports (RP-1, RP-2): record-level rows read from the events table, paged, counted per day, exported.

``definitions`` says what each report counts; ``query`` reads pages, totals and daily counts with
bounded queries; ``export`` writes a CSV safely; ``service`` is what the faces call.
"""
