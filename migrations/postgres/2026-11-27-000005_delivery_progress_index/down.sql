DROP INDEX deliveries_send_status;
