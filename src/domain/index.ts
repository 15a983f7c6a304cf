/** Deciders, command handling, snapshots and specifications (the write side). */
export {};
