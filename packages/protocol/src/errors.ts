/** The one error envelope of every Rapport HTTP API, sent with a 4xx status. */
export interface ErrorBody {
  error: string;
  details?: unknown[];
}
