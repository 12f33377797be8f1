/** Versions of the local stack. docker-compose.yml uses the same versions of the official images. */
export const KAFKA_VERSION = '4.1.1';
export const SCALA_VERSION = '2.13';
export const APICURIO_VERSION = '3.0.9';
export const LOG4J_VERSION = '2.24.3';
export const MIN_JAVA = 17;
