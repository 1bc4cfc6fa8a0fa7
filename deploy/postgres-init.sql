-- Run once by the postgres image on an empty data directory (deploy/compose.yaml):
-- Dagster's runs, events and schedules in one database, the warehouse in another.
CREATE DATABASE dagster;
CREATE DATABASE backroom;
