-- One database per app, created on the first start of an empty data volume.
CREATE DATABASE orders;
CREATE DATABASE inventory;
CREATE DATABASE payments;
CREATE DATABASE notifications;
CREATE DATABASE bridge;
