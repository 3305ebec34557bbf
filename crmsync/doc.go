// Package crmsync will push calls, recordings and callback tasks to the
// client's CRM card (Bitrix24, amoCRM) and pull leads and deals back into
// ClickHouse. It has no code yet: CRM sync is not part of this version, and
// nothing in callpulse calls this package. Until it lands, client grading
// comes from `callpulse import clients`.
package crmsync
