-- The month partitions of raw and core for the given days (the first of each month will do).
SELECT core.ensure_month_partitions(%(days)s::date[])
