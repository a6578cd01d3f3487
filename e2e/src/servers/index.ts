export * from './launcher';
export * from './tcp';
export * from './redis';
export * from './kafka';
export * from './prometheus';
export * from './exporter';
export * from './postgresql';
export * from './mariadb';
