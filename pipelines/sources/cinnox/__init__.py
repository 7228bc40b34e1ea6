"""CINNOX sent campaigns: the recipients of every SMS and WhatsApp campaign sent, per UTC day."""
