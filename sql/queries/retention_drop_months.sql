-- The month partitions of raw and core that end on or before the cutoff, dropped; their months.
SELECT core.drop_month_partitions_before(%(cutoff)s::date)
