"""Microsoft School Data Sync: the SDS v2.1 CSV feed, delivered to a folder or uploaded
through Graph's industryData data connector."""
