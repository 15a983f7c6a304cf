/** Schema registry, validation, compatibility and upcasting. */
export {};
