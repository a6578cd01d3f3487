export * from './launcher';
export * from './tcp';
export * from './redis';
export * from './kafka';
