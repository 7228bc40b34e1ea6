"""SenderGuide email interaction data: sends, opens, clicks, bounces, unsubscribes per email."""
